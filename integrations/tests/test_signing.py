"""Signatures of deliveries: the documented construction, and what a receiver refuses."""

import hashlib
import hmac

from integrations.signing import new_secret, signature, verify

BODY = b'{"event":"mention"}'


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    expected = hmac.new(b"s3cret", b"1700000000." + BODY, hashlib.sha256).hexdigest()

    assert signature("s3cret", 1_700_000_000, BODY) == f"sha256={expected}"


def test_a_receiver_accepts_a_fresh_signature():
    header = signature("s3cret", 1_700_000_000, BODY)

    assert verify("s3cret", "1700000000", BODY, header, now=1_700_000_010)


def test_a_receiver_refuses_another_secret_a_changed_body_or_timestamp():
    header = signature("s3cret", 1_700_000_000, BODY)

    assert not verify("other", "1700000000", BODY, header, now=1_700_000_000)
    assert not verify("s3cret", "1700000000", BODY + b" ", header, now=1_700_000_000)
    assert not verify("s3cret", "1700000001", BODY, header, now=1_700_000_000)


def test_a_receiver_refuses_a_replay_outside_the_window_and_junk_timestamps():
    header = signature("s3cret", 1_700_000_000, BODY)

    assert not verify("s3cret", "1700000000", BODY, header, now=1_700_000_000 + 301)
    assert not verify("s3cret", "-5", BODY, header, now=1_700_000_000)
    assert not verify("s3cret", "", BODY, header, now=1_700_000_000)


def test_secrets_are_long_and_random():
    assert len(new_secret()) >= 40
    assert new_secret() != new_secret()
