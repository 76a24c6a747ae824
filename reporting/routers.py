from django.conf import settings


class ReplicaRouter:
    """Sends reads of the reporting tables to the read replica when one is configured
    (REPLICA_DATABASE_URL); everything else, and every write, goes to the primary."""

    def db_for_read(self, model, **hints):
        if model._meta.app_label == "reporting" and "replica" in settings.DATABASES:
            return "replica"
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, **hints):
        return db == "default"
