"""What Jobs spends, and the owner in control of it: the model each role runs (ModelBook),
the budgets (Budgets over BudgetBook), /pause (PauseSwitch), and the gate every turn passes
(Spending). Below the conversation, the triggers and the delegation; above the sessions."""

from jobs.spending.budgets import BudgetBook, Budgets, Over, Periods, scopes_of
from jobs.spending.gate import Spending
from jobs.spending.models import GROUPS, ModelBook, group_of
from jobs.spending.pause import PauseSwitch

__all__ = [
    "GROUPS",
    "BudgetBook",
    "Budgets",
    "ModelBook",
    "Over",
    "PauseSwitch",
    "Periods",
    "Spending",
    "group_of",
    "scopes_of",
]
