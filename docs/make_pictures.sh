#!/bin/sh
# Regenerate the README's pictures (docs/*.svg) from the examples; run from the repository root:
#   sh docs/make_pictures.sh
# Needs Graphviz's `dot` (apt-get install graphviz / brew install graphviz).
set -eu
TL=${TL:-.venv/bin/tensorlang}
"$TL" graph examples/xor.tl -o docs/xor.svg
"$TL" graph examples/xor.tl --backward -o docs/xor_backward.svg
"$TL" graph examples/mnist_cnn.tl --collapse -o docs/mnist_cnn_collapsed.svg
