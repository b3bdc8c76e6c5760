"""Named seed streams: independent, reproducible, and nothing global is touched."""

import numpy as np
import pytest
import torch

from latentwatch.engine import seeds


def test_streams_are_reproducible_31_bit_and_independent_by_name():
    values = {name: seeds.stream(7, name) for name in seeds.STREAMS}
    assert values == {name: seeds.stream(7, name) for name in seeds.STREAMS}
    assert len(set(values.values())) == len(seeds.STREAMS)
    assert all(0 <= v < 2**31 for v in values.values())
    assert seeds.stream(8, "shuffle") != seeds.stream(7, "shuffle")


def test_an_unknown_stream_is_refused():
    with pytest.raises(ValueError, match="unknown seed stream 'shufle'"):
        seeds.stream(0, "shufle")


def test_generators_on_a_stream_repeat_their_draws():
    np.testing.assert_array_equal(seeds.rng(3, "splits").random(5),
                                  seeds.rng(3, "splits").random(5))
    assert not np.array_equal(seeds.rng(3, "splits").random(5),
                              seeds.rng(3, "init").random(5))
    a = torch.randn(4, generator=seeds.torch_generator(3, "score-noise"))
    b = torch.randn(4, generator=seeds.torch_generator(3, "score-noise"))
    assert torch.equal(a, b)
    assert seeds.torch_generator(3, "shuffle").initial_seed() == seeds.stream(3, "shuffle")


def test_draw_seed_follows_the_random_state_and_leaves_global_state_alone():
    """An int or a RandomState seeds the fit without touching global state (``None`` draws
    from numpy's global generator, as scikit-learn does)."""
    state = np.random.get_state()  # noqa: NPY002 - the global state is the subject
    torch_state = torch.random.get_rng_state()
    assert seeds.draw_seed(0) == seeds.draw_seed(0)
    assert seeds.draw_seed(0) != seeds.draw_seed(1)
    assert seeds.draw_seed(np.random.RandomState(5)) == seeds.draw_seed(5)
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(x, y) for x, y in zip(state, after, strict=True))
    assert torch.equal(torch_state, torch.random.get_rng_state())
    assert 0 <= seeds.draw_seed(None) < 2**31
