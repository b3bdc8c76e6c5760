"""The latent path maths of :mod:`latentwatch.generate` and its random states."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial import geometric_slerp

from latentwatch.generate import (
    as_generator,
    attribute_vector,
    latent_path,
    linear_path,
    spherical_path,
    step_sizes,
)

finite = st.floats(-10, 10, allow_nan=False, width=64)
vectors = st.integers(1, 6).flatmap(
    lambda k: st.tuples(arrays(np.float64, k, elements=finite), arrays(np.float64, k,
                                                                        elements=finite)))


@settings(derandomize=True)
@given(vectors, st.integers(2, 12))
def test_linear_path_is_evenly_spaced_between_the_end_points(ab, steps):
    a, b = ab
    path = linear_path(a, b, steps)
    assert path.shape == (steps, a.size)
    np.testing.assert_allclose(path[0], a, atol=1e-12)
    np.testing.assert_allclose(path[-1], b, atol=1e-12)
    np.testing.assert_allclose(step_sizes(path), np.linalg.norm(b - a) / (steps - 1),
                               atol=1e-9)


def test_spherical_path_matches_scipy_on_the_unit_sphere():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.normal(size=(2, 5))
        a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
        np.testing.assert_allclose(spherical_path(a, b, 9),
                                   geometric_slerp(a, b, np.linspace(0, 1, 9)), atol=1e-10)


@settings(derandomize=True, deadline=None, max_examples=60)
@given(vectors, st.floats(0.1, 5.0), st.integers(2, 10))
def test_spherical_path_keeps_the_norm_and_takes_equal_angles(ab, radius, steps):
    a, b = ab
    assume(np.linalg.norm(a) > 1e-3 and np.linalg.norm(b) > 1e-3)
    a, b = radius * a / np.linalg.norm(a), radius * b / np.linalg.norm(b)
    assume(abs(a @ b) < radius**2 * (1 - 1e-6))  # (anti)parallel: the line, tested below
    path = spherical_path(a, b, steps)
    np.testing.assert_allclose(path[0], a, atol=1e-9)
    np.testing.assert_allclose(path[-1], b, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), radius, rtol=1e-9)
    steps_ = step_sizes(path)
    np.testing.assert_allclose(steps_, steps_[0], atol=1e-9)  # equal chords = equal angles


def test_linear_midpoint_of_prior_draws_is_short_but_spherical_is_not():
    """In many dimensions the straight line cuts through the low-density interior."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 64))
    mid_linear = linear_path(a, b, 3)[1]
    mid_spherical = spherical_path(a, b, 3)[1]
    typical = np.sqrt(64)
    assert np.linalg.norm(mid_linear) < 0.8 * typical
    assert abs(np.linalg.norm(mid_spherical) - typical) < 0.2 * typical


def test_spherical_path_falls_back_to_the_line_when_the_circle_is_undefined():
    a = np.array([1.0, 2.0])
    for b in (2 * a, -a, np.zeros(2)):
        np.testing.assert_allclose(spherical_path(a, b, 5), linear_path(a, b, 5))


def test_path_arguments_are_checked():
    with pytest.raises(ValueError, match="steps"):
        linear_path([0, 0], [1, 1], 1)
    with pytest.raises(ValueError, match="different sizes"):
        spherical_path([0, 0], [1, 1, 1], 3)
    with pytest.raises(ValueError, match="path must be"):
        latent_path([0], [1], 3, path="curvy")


def test_attribute_vector_is_the_difference_of_means():
    with_ = np.array([[1.0, 2.0], [3.0, 4.0]])
    without = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 2.0]])
    np.testing.assert_allclose(attribute_vector(with_, without), [2.0, 2.0])
    with pytest.raises(ValueError, match="at least one"):
        attribute_vector(with_, without[:0])


def test_as_generator_is_reproducible_and_leaves_global_state_alone():
    state = np.random.get_state()  # noqa: NPY002 - the global state is the subject
    a = as_generator(7).standard_normal(4)
    as_generator(None).standard_normal(4)
    np.testing.assert_array_equal(a, as_generator(7).standard_normal(4))
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(x, y) for x, y in zip(state, after, strict=True))
    gen = np.random.default_rng(0)
    assert as_generator(gen) is gen
    assert isinstance(as_generator(np.random.RandomState(0)), np.random.Generator)
    with pytest.raises(ValueError, match="random_state"):
        as_generator("seed")
