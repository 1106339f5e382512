"""Create the benchmark's users in the project's database and print one access token per user (JSON).

Run with the server's environment (DATABASE_URL, DJANGO_SECRET_KEY, CHAT_ACCESS_TOKEN_LIFETIME), so the
tokens verify on the server and outlive the run. Users get an unusable password: nothing is hashed, and
the only way in is the token printed here. Idempotent: existing users are reused.

``python -m bench.make_users --count 1000 --prefix bench`` prints ``["<access>", ...]`` on the last line.
"""

from __future__ import annotations

import argparse
import json
import os


def make_tokens(*, count: int, prefix: str) -> list[str]:
    """Ensure users ``<prefix>00000``... exist (bulk-created) and return a fresh access token for each."""
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import AccessToken

    user_model = get_user_model()
    names = [f"{prefix}{i:05d}" for i in range(count)]
    existing = set(user_model.objects.filter(username__startswith=prefix).values_list("username", flat=True))
    new_users = []
    for name in names:
        if name not in existing:
            user = user_model(username=name, display_name=f"Bench {name[len(prefix) :]}")
            user.set_unusable_password()
            new_users.append(user)
    user_model.objects.bulk_create(new_users, batch_size=500)
    by_name = {u.username: u for u in user_model.objects.filter(username__startswith=prefix)}
    return [str(AccessToken.for_user(by_name[name])) for name in names]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--prefix", default="bench")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import django

    django.setup()
    print(json.dumps(make_tokens(count=args.count, prefix=args.prefix)))


if __name__ == "__main__":
    main()
