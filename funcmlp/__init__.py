"""funcmlp: multi-layer perceptrons as pure functions on JAX."""
from funcmlp.activations import Activation, get_activation
from funcmlp.backprop import Backprop, autodiff_grad, backprop, objective
from funcmlp.gradcheck import GradCheckReport, check_gradients
from funcmlp.losses import Loss, get_loss
from funcmlp.model import MLP, Trace
from funcmlp.params import Layer, params_from_arrays, to_column_convention
from funcmlp.optimizers import make_optimizer, make_schedule
from funcmlp.training import History, accuracy, evaluate, fit, predict
