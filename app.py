"""Entry point for gunicorn (``gunicorn app:server``) and ``python app.py``."""

from dashboard.server import create_app_or_exit

app = create_app_or_exit()
server = app.server

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8050, debug=False)
