"""The delivery job's retry policy: at least 5 tries, exponential waits, the last about an hour after the first."""

from integrations.deliveries import RETRY, deliver


def test_deliveries_are_tried_at_least_five_times_over_about_an_hour():
    assert RETRY.attempts >= 5
    assert 45 * 60 <= RETRY.total() <= 90 * 60
    assert deliver.retry is RETRY


def test_the_waits_grow_exponentially():
    waits = [RETRY.base * RETRY.factor**n for n in range(RETRY.attempts - 1)]

    assert waits == [120, 240, 480, 960, 1920]
    assert RETRY.delay(RETRY.attempts) is None
    for n, wait in enumerate(waits, start=1):
        delay = RETRY.delay(n)
        assert delay is not None
        assert 0.9 * wait <= delay <= 1.1 * wait
