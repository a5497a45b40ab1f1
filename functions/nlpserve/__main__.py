"""``python -m nlpserve``: the same CLI as the ``nlpserve`` console script."""

from nlpserve.cli import main

if __name__ == "__main__":
    main()
