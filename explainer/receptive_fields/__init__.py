"""Receptive fields of convolutional networks: analytic, gradient-measured and effective.

Submodules:

* :mod:`explainer.receptive_fields.analytic`: the theoretical field after every layer of a real
  model (:func:`receptive_field`, :class:`LayerRF`, :func:`field_at`, :func:`clip_box`);
* :mod:`explainer.receptive_fields.measured`: the pixels autograd says can reach one output unit
  (:func:`empirical_receptive_field`), the effective field of Luo et al. 2016
  (:func:`effective_receptive_field`, :func:`erf_summary`), and all three for one unit
  (:func:`unit_field`);
* :mod:`explainer.receptive_fields.networks`: the models the lesson measures (:func:`conv_stack`,
  :func:`vgg_comparison`, :func:`reference_network` with :data:`PUBLISHED_FIELDS`).

Every public name of the three is re-exported here.

Example (three 3x3 convolutions see as far as one 7x7):
    >>> from torch import nn
    >>> [layer.size for layer in receptive_field(nn.Sequential(*[nn.Conv2d(1, 1, 3) for _ in range(3)]))]
    [(3, 3), (5, 5), (7, 7)]
"""

from explainer.receptive_fields import analytic, measured, networks
from explainer.receptive_fields.analytic import *  # noqa: F401,F403
from explainer.receptive_fields.measured import *  # noqa: F401,F403
from explainer.receptive_fields.networks import *  # noqa: F401,F403

__all__ = [*analytic.__all__, *measured.__all__, *networks.__all__]
