#!/usr/bin/env python3
"""Password hashes as other systems make them, for the import tests (authctl/tests/transfer.rs).

  legacy_hashes.py hashes PASSWORD   -> {"kind": "hash", ...}: Django 5.2's own hashers at
                                       their default cost, Python's bcrypt, hashlib's scrypt and
                                       PBKDF2 in PHC form
  legacy_hashes.py dump SPEC_JSON    -> `manage.py dumpdata auth.user` output from a real Django
                                       (SQLite in memory) holding the users SPEC_JSON lists:
                                       [{"username", "email", "password" (null: unusable),
                                         "superuser", "active", "groups": ["name"]}]

Needs django, bcrypt and argon2-cffi (scripts/test.sh installs them).
"""
import base64
import hashlib
import io
import json
import os
import sys

import django
from django.conf import settings

settings.configure(
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"],
    USE_TZ=True,
)
django.setup()

from django.contrib.auth import hashers  # noqa: E402


def b64(raw):
    return base64.b64encode(raw).decode().rstrip("=")


def hashes(password):
    import bcrypt

    encoded = password.encode()
    salt = os.urandom(16)
    return {
        "django-pbkdf2_sha256": hashers.make_password(password),
        "django-pbkdf2_sha1": hashers.make_password(password, hasher="pbkdf2_sha1"),
        "django-argon2": hashers.make_password(password, hasher="argon2"),
        "django-bcrypt_sha256": hashers.make_password(password, hasher="bcrypt_sha256"),
        "bcrypt": bcrypt.hashpw(encoded, bcrypt.gensalt(10)).decode(),
        "scrypt": "$scrypt$ln=14,r=8,p=1$%s$%s"
        % (b64(salt), b64(hashlib.scrypt(encoded, salt=salt, n=1 << 14, r=8, p=1, dklen=32))),
        "pbkdf2-sha256": "$pbkdf2-sha256$i=600000,l=32$%s$%s"
        % (b64(salt), b64(hashlib.pbkdf2_hmac("sha256", encoded, salt, 600_000))),
    }


def dump(spec):
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for entry in spec:
        user = User.objects.create_user(entry["username"], entry["email"], entry.get("password"))
        user.is_superuser = user.is_staff = entry.get("superuser", False)
        user.is_active = entry.get("active", True)
        user.save()
        for name in entry.get("groups", []):
            user.groups.add(Group.objects.get_or_create(name=name)[0])
    out = io.StringIO()
    call_command("dumpdata", "auth.user", stdout=out)
    return out.getvalue()


if __name__ == "__main__":
    if sys.argv[1:2] == ["hashes"]:
        print(json.dumps(hashes(sys.argv[2])))
    elif sys.argv[1:2] == ["dump"]:
        print(dump(json.loads(sys.argv[2])))
    else:
        sys.exit(__doc__)
