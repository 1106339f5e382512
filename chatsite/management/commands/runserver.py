"""``manage.py runserver``: daphne's development server, with the bounds of chatsite/server.py."""

from daphne.management.commands.runserver import Command as DaphneRunserver

from chatsite.server import ChatServer


class Command(DaphneRunserver):
    server_cls = ChatServer
