"""Each function is granted exactly the DynamoDB actions its code calls (shared/resources.py `table_access`).

The actions are derived from the source: which boto3 operations each StateStore and RateBudget method makes
(following the methods it calls on itself), and which StateStore methods the function's handler and the
flow modules it imports call. A flow that starts calling `store.drop_cached` (DeleteItem) from the webhook
fails here, before the role in AWS refuses it at run time.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from shared.resources import FUNCTIONS, FunctionSpec

ROOT = Path(__file__).resolve().parents[2]
# The boto3 names the adapters call -> IAM action names.
OPERATIONS = {
    "get_item": "GetItem",
    "put_item": "PutItem",
    "update_item": "UpdateItem",
    "delete_item": "DeleteItem",
    "query": "Query",
    "scan": "Scan",
    "batch_get_item": "BatchGetItem",
    "batch_write_item": "BatchWriteItem",
    "transact_get_items": "TransactGetItems",
    "transact_write_items": "TransactWriteItems",
    "describe_table": "DescribeTable",
    "batch_writer": "BatchWriteItem",  # the resource's batching helper
}


def _parse(relative: str) -> ast.Module:
    return ast.parse((ROOT / relative).read_text())


def _method_actions(relative: str, class_name: str) -> dict[str, set[str]]:
    """Method name -> the DynamoDB actions it makes, directly or through the class's other methods."""
    cls = next(n for n in ast.walk(_parse(relative)) if isinstance(n, ast.ClassDef) and n.name == class_name)
    methods = [n for n in cls.body if isinstance(n, ast.FunctionDef)]
    names = {m.name for m in methods}
    direct: dict[str, set[str]] = {m.name: set() for m in methods}
    calls: dict[str, set[str]] = {m.name: set() for m in methods}
    for method in methods:
        for node in ast.walk(method):
            if not isinstance(node, ast.Attribute):
                continue
            if node.attr in OPERATIONS:  # self._table.put_item, self._client.batch_get_item, self.db.get_item
                direct[method.name].add(OPERATIONS[node.attr])
            elif isinstance(node.value, ast.Name) and node.value.id == "self" and node.attr in names:
                calls[method.name].add(node.attr)

    def closure(name: str) -> set[str]:
        seen, todo, out = {name}, [name], set()
        while todo:
            current = todo.pop()
            out |= direct[current]
            for callee in calls[current] - seen:
                seen.add(callee)
                todo.append(callee)
        return out

    return {name: closure(name) for name in names}


STATE_METHODS = _method_actions("shared/adapters/aws/state.py", "StateStore")
RATE_BUDGET_METHODS = _method_actions("shared/adapters/aws/rate_budget.py", "RateBudget")


def _modules(spec: FunctionSpec) -> list[ast.Module]:
    """The function's handler and every `shared.flows` module it reaches through imports."""
    todo = [f"functions/{spec.name}/handler.py"]
    seen: set[str] = set()
    modules = []
    while todo:
        relative = todo.pop()
        if relative in seen:
            continue
        seen.add(relative)
        module = _parse(relative)
        modules.append(module)
        for node in ast.walk(module):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("shared.flows."):
                todo.append(f"{(node.module or '').replace('.', '/')}.py")
    return modules


def _called_names(modules: list[ast.Module]) -> set[str]:
    return {
        node.func.attr
        for module in modules
        for node in ast.walk(module)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }


def derived_actions(spec: FunctionSpec) -> dict[str, set[str]]:
    """Table key -> the actions the function's code calls on it."""
    called = _called_names(_modules(spec))
    out: dict[str, set[str]] = {}
    state = set().union(*(STATE_METHODS[m] for m in called & STATE_METHODS.keys()))
    if state:
        out["state"] = state
    # The rate budget is reached only through `Runtime.erp(flow)`: the ERP client takes a token per call.
    if "erp" in called:
        out["rate_budget"] = set().union(*(RATE_BUDGET_METHODS[m] for m in ("acquire", "penalise")))
    return out


def test_each_function_is_granted_exactly_the_dynamodb_actions_its_code_calls():
    for spec in FUNCTIONS:
        declared = {access.key: set(access.actions) for access in spec.table_access}
        assert declared == derived_actions(spec), spec.name


def test_the_webhook_may_not_scan_delete_or_batch_write_the_state_table():
    (access,) = next(f for f in FUNCTIONS if f.name == "webhook_ingest").table_access
    assert access.key == "state"
    assert not {"Scan", "DeleteItem", "BatchWriteItem"} & set(access.actions)


def test_the_derivation_sees_a_store_method_and_the_rate_budget():
    # The derivation itself: a known method maps to its operation, through the class's own helpers.
    assert STATE_METHODS["drop_cached"] == {"DeleteItem"}
    assert STATE_METHODS["acquire_lease"] == {"UpdateItem", "GetItem"}
    assert STATE_METHODS["order_exceptions"] == {"BatchGetItem"}
    assert {"GetItem", "UpdateItem"} <= RATE_BUDGET_METHODS["acquire"]


def test_each_function_declares_the_erp_flows_its_handler_calls():
    for spec in FUNCTIONS:
        text = (ROOT / "functions" / spec.name / "handler.py").read_text()
        assert set(re.findall(r"\.erp\(\"(\w+)\"\)", text)) == set(spec.erp_flows), spec.name


def test_a_function_publishes_owner_alerts_exactly_when_its_code_opens_exceptions():
    # `StateStore.open_exception` tells the owner (shared/alerts.py), and `Runtime.alerts` publishes directly
    # (the digest): the function needs the topics then.
    for spec in FUNCTIONS:
        modules = _modules(spec)
        uses = {n.attr for m in modules for n in ast.walk(m) if isinstance(n, ast.Attribute)}
        publishes = "open_exception" in _called_names(modules) or "alerts" in uses
        assert spec.alerts == publishes, spec.name


def test_each_scheduled_function_sends_its_heartbeat():
    # infra/monitoring.py alarms when a schedule's heartbeat stops coming: each must send its own
    for spec in FUNCTIONS:
        text = (ROOT / "functions" / spec.name / "handler.py").read_text()
        assert (f'heartbeat("{spec.name}")' in text) == (spec.schedule is not None), spec.name
