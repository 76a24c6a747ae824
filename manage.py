#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    if not os.environ.get("DATABASE_URL"):
        # Nothing configured: run the command against the embedded PostgreSQL and Redis that
        # `make demo` and `make test` use, so that manage.py works the same way on a fresh checkout.
        from healthcenter.runtime import main

        sys.exit(main(["run", sys.executable, *sys.argv]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcenter.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
