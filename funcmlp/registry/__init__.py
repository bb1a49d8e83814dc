"""The registry: one entry per activation and per loss, funcmlp's JAX forms and derivations' sympy forms side by side.

Contract::

    activations.py   ACTIVATIONS (name -> ActivationSpec), Activation (a layer's: name + alpha), get_activation,
                     register_activation / unregister_activation; activation_rules.py holds the built-in entries
    losses.py        Loss (a name + its parameter), get_loss; loss_registry.py LOSSES (name -> LossSpec),
                     register_loss / unregister_loss; loss_rules.py the built-in entries (each loss's value,
                     closed-form dL/da, target kind, the output activations it takes, its paired logits form)

Entries only: no checks of data, no training; entry_checks.py probes an entry once, when it is made.
Imports nothing of funcmlp's but itself and funcmlp.arguments.
"""
