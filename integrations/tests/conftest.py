import pytest

from users.api_tokens import bot_create
from users.models import User


@pytest.fixture(autouse=True)
def _local_receivers(settings):
    """Tests deliver to receivers on 127.0.0.1 over plain HTTP, which production refuses by default."""
    settings.CHAT_WEBHOOK_ALLOW_PRIVATE = True
    settings.CHAT_WEBHOOK_ALLOW_HTTP = True
    settings.CHAT_WEBHOOK_TIMEOUT = 2.0


def make_bot(owner: User, username: str = "echo") -> User:
    return bot_create(actor=owner, username=username, display_name=username.title())


@pytest.fixture
def bot(user):
    return make_bot(user)
