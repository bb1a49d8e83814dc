"""The registry: one entry per activation and per loss, funcmlp's JAX forms and derivations' sympy forms side by side.

Contract::

    activations.py   Activation (a layer's: name + alpha; f, f', f''), get_activation; activation_registry.py
                     ACTIVATIONS (name -> ActivationSpec), register_activation / unregister_activation;
                     activation_rules.py the built-in entries, activation_curvature.py their second derivatives
    losses.py        Loss (a name + its parameter), get_loss; loss_spec.py LossSpec, TARGET_KINDS;
                     loss_registry.py LOSSES (name -> LossSpec), register_loss / unregister_loss; loss_rules.py
                     the built-in entries (each loss's value, closed-form dL/da, target kind, the output
                     activations it takes, its paired logits form); loss_curvature_rules.py their Hessian
                     factors and samplers; loss_curvature.py the Loss methods on them (output side included);
                     loss_functions.py a function (a, y) -> (batch,) as a loss (dL/da by jax.grad);
                     loss_pairing.py which output layers a loss takes (refused, or OutputActivationWarning)
    definitions.py   when a registration again is the same definition (a notebook cell run twice)
    lazy_sympy.py    sp: sympy, imported on first use

Entries only: no checks of data, no training; entry_checks.py probes an entry once, when it is made.
Imports nothing of funcmlp's but itself and funcmlp.arguments.
"""
