"""gunicorn's settings for the web process: docker/start-web.sh and the HTTP benchmarks read this file.

The bind address and the number of workers stay on the command line, where operators expect them.
"""

# Load the project (config.wsgi imports every view) once in the master before forking: each worker
# starts warm and ready within milliseconds, and they share the imported code's memory. Nothing
# at import opens a database or cache connection, so no socket is shared across the fork.
preload_app = True

# gunicorn's heartbeat files on memory, not on a container's overlay disk.
worker_tmp_dir = "/dev/shm"  # noqa: S108
