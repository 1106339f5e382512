"""Load generator, baseline server and benchmark scenarios (`make bench`); not part of the test run."""
