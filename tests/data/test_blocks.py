"""The packed layout: where each block sits, the same for tables and windows."""

import numpy as np

from latentwatch.data.blocks import Block, PackedLayout


def test_the_layout_places_inputs_logits_and_missingness():
    blocks = [Block("x", "x", "numeric", missing=True),
              Block("c", "c", "categorical", categories=["a", "b"]),
              Block("f", "f", "boolean", categories=[False, True], missing=True)]
    layout = PackedLayout(blocks)
    assert layout.input_start.tolist() == [0, 1, 4]
    assert layout.n_values == 5 and layout.input_width == 7  # two missingness inputs
    assert layout.logit_start.tolist() == [0]
    assert layout.boolean_logits.tolist() == [3]
    assert layout.missing_logits.tolist() == [4, 5]
    assert layout.packed_width == 7 + 2 * 3
    assert layout.shape.n_outputs == 1 and layout.shape.n_logits == 6
    assert np.array_equal(layout.with_missing, [0, 2])
