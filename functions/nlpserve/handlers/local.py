"""One handler serving every task whose bundle is present: what `nlpserve serve` and `invoke` use locally."""

from nlpserve.handlers._api import make_handler

handler = make_handler(None)
