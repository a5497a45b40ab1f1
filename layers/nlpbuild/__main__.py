"""``python -m nlpbuild <subcommand>``: one dispatch table, one module per subcommand.

To add a subcommand, add an entry to SUBCOMMANDS: name -> (module, help). The module provides
``add_arguments(parser)`` and ``run(args) -> int``; it is imported only when chosen, so heavy
dependencies (torch, onnx) stay out of unrelated commands.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "models": ("nlpbuild.models", "build the ONNX model bundles into build/models"),
    "train-sentiment": ("nlpbuild.train_sentiment", "train the sentiment head (opt-in; writes data/)"),
    "train-entities": ("nlpbuild.train_entities", "distil spaCy's entity model into a token classifier (opt-in; writes data/)"),
    "train-intent": ("nlpbuild.train_intent", "fine-tune the intent classifier on the written phrasings (writes data/)"),
    "countries": ("nlpbuild.countries", "write the country-name list the PII context rules read (needs babel)"),
    "seq2seq": ("nlpbuild.seq2seq_bundle", "a translation / abstractive summary bundle from a seq2seq checkpoint you bring"),
    "tiny-seq2seq": ("nlpbuild.tiny_seq2seq", "write two tiny trained seq2seq checkpoints (Marian en-de, T5) to try the path"),
    "layers": ("nlpbuild.layers", "build the runtime + model layer zips into build/layers, check sizes"),
    "evaluate": ("nlpbuild.evaluate", "score every task on its held-out sets next to the peer; writes JSON"),
}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m nlpbuild", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text)
    # Import only the chosen module, then let it define its own options.
    known = [a for a in argv if not a.startswith("-")][:1]
    if not known or known[0] not in SUBCOMMANDS:
        parser.parse_args(argv)  # prints usage / error and exits
        return 2
    module = importlib.import_module(SUBCOMMANDS[known[0]][0])
    cmd_parser = argparse.ArgumentParser(prog=f"python -m nlpbuild {known[0]}",
                                         description=SUBCOMMANDS[known[0]][1])
    module.add_arguments(cmd_parser)
    rest = list(argv)
    rest.remove(known[0])
    return int(module.run(cmd_parser.parse_args(rest)) or 0)


if __name__ == "__main__":
    sys.exit(main())
