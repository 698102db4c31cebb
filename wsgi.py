"""Entry point for production servers: ``gunicorn -w 1 --threads 64 -b 0.0.0.0:8000 wsgi:app``.

One gunicorn process per port (Socket.IO needs sticky clients); run several behind a load
balancer with ``WAREHOUSE_REDIS_URL`` set so that they share live rooms. See the README.
"""

from warehouse import create_app

app = create_app()
