"""Import time of hsibench in a fresh interpreter (codec modules must import heavy deps lazily)."""


def timeraw_import_hsibench():
    return "import hsibench"


def timeraw_import_codecs():
    return "import hsibench.codecs"


def timeraw_import_cli():
    return "import hsibench.cli"
