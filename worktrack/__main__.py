import sys

from worktrack.gc_pause import before_exit, for_batch_work

for_batch_work()

from worktrack.cli import main  # noqa: E402 - the collector is tuned before the imports build their objects

code = main()
before_exit()
sys.exit(code)
