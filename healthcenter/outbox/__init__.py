"""The transactional outbox: the jobs a change asks for are rows written in the change's own
transaction, handed to Celery after the commit and again by a sweep until a worker has done them.
A page never waits on Redis, and a job is not lost because Redis was down when it was asked for."""
