"""The registry: one entry per activation and per loss, funcmlp's JAX forms and derivations' sympy forms side by side.

Contract::

    activations.py   ACTIVATIONS (name -> ActivationSpec), Activation (a layer's: name + alpha), get_activation,
                     register_activation / unregister_activation; activation_rules.py holds the built-in entries
    losses.py        LOSSES (name -> LossSpec), Loss, get_loss; each loss's value, closed-form dL/da, target kind,
                     the output activations it takes and its paired logits form

Entries only: no checks of data, no training. Imports nothing of funcmlp's but itself.
"""
