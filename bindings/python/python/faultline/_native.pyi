"""Type stubs of the native module ``faultline._native`` (checked against the compiled
module by tests/test_stubs.py)."""

from os import PathLike
from typing import Any, Mapping, Sequence, final

from typing_extensions import Self

__version__: str
__all__ = [
    "AdapterError",
    "AnalysisError",
    "ArrowData",
    "BundleError",
    "ConfigError",
    "DetectError",
    "FaultlineError",
    "FixError",
    "Fixer",
    "InputError",
    "InternalError",
    "MiningError",
    "NotAllowedError",
    "TemplateMiner",
    "analyze",
    "analyze_bundle",
    "comparisons",
    "decompose",
    "default_catalog",
    "default_config",
    "detect",
    "detect_with",
    "generate_key",
    "mine",
    "narrate",
    "render_markdown",
    "score",
    "validate_config",
    "verify_audit",
    "__version__",
    "_values_address",
    "_detect_addresses",
]

class FaultlineError(Exception):
    causes: list[str]

class InputError(FaultlineError): ...
class ConfigError(InputError): ...
class BundleError(InputError): ...
class DetectError(FaultlineError): ...
class MiningError(FaultlineError): ...
class AnalysisError(FaultlineError): ...
class FixError(FaultlineError): ...
class NotAllowedError(FixError): ...
class AdapterError(FaultlineError): ...
class InternalError(FaultlineError): ...

@final
class ArrowData:
    """An Arrow table or column exported through the Arrow PyCapsule interface."""

    @property
    def column_names(self) -> list[str]: ...
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...
    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple[object, object]: ...
    def __len__(self) -> int: ...

@final
class TemplateMiner:
    def __new__(cls, config: Mapping[str, Any] | None = None) -> Self: ...
    def add(self, message: str) -> int: ...
    def add_many(self, messages: Any, *, raw: bool = False) -> ArrowData: ...
    def resolve(self, cluster_id: int) -> int: ...
    def template(self, cluster_id: int) -> str | None: ...
    def count(self, cluster_id: int) -> int | None: ...
    def parameters(self, cluster_id: int, message: str) -> list[str] | None: ...
    def templates(self) -> ArrowData: ...
    def snapshot(self) -> dict[str, Any]: ...
    @staticmethod
    def restore(snapshot: Mapping[str, Any]) -> TemplateMiner: ...
    @property
    def config(self) -> dict[str, Any]: ...
    def __len__(self) -> int: ...

def default_config() -> dict[str, Any]: ...
def validate_config(config: Mapping[str, Any]) -> dict[str, Any]: ...
def score(values: Any, config: Mapping[str, Any] | None = None) -> ArrowData: ...
def detect(
    values: Any,
    timestamps: Any = None,
    *,
    service: str = "series",
    metric: str = "value",
    config: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]: ...
def detect_with(
    detector: Any,
    values: Any,
    timestamps: Any = None,
    *,
    service: str = "series",
    metric: str = "value",
) -> list[dict[str, Any]]: ...
def decompose(values: Any, period: int, *, robust: bool = False) -> ArrowData: ...
def _values_address(values: Any) -> tuple[int, bool]: ...
def _detect_addresses(
    values: Any, timestamps: Any = None
) -> tuple[tuple[int, bool], tuple[int, bool]]: ...
def mine(messages: Any, *, config: Mapping[str, Any] | None = None, raw: bool = False) -> ArrowData: ...
def analyze_bundle(
    path: str | PathLike[str],
    *,
    config: Mapping[str, Any] | None = None,
    llm: Any = None,
    detector: Any = None,
    catalog: Any = None,
) -> dict[str, Any]: ...
def analyze(
    incident: Mapping[str, Any],
    *,
    metrics: Any = None,
    logs: Any = None,
    events: Any = None,
    topology: Any = None,
    config: Mapping[str, Any] | None = None,
    llm: Any = None,
    detector: Any = None,
    catalog: Any = None,
) -> dict[str, Any]: ...
def render_markdown(report: Mapping[str, Any]) -> str: ...
def narrate(report: Mapping[str, Any], llm: Any) -> str: ...

@final
class Fixer:
    def __new__(
        cls,
        audit_key: str | None = None,
        *,
        audit_path: str | PathLike[str] | None = None,
        notifier: Any = None,
    ) -> Self: ...
    @property
    def audit_public_key(self) -> str: ...
    def plan(
        self, report: Mapping[str, Any], *, context: Mapping[str, Any] | None = None, catalog: Any = None
    ) -> dict[str, Any]: ...
    def preflight(
        self, plan: Mapping[str, Any], *, spec: Mapping[str, Any] | None = None, runner: Any = None
    ) -> dict[str, Any]: ...
    def approve(
        self,
        plan: Mapping[str, Any],
        preflight: Mapping[str, Any],
        approver: str,
        comment: str,
        key: str,
        *,
        runner: Any = None,
    ) -> dict[str, Any]: ...
    def execute(
        self,
        plan: Mapping[str, Any],
        *,
        approval: Mapping[str, Any] | None = None,
        approver_key: str | None = None,
        auto_environment: str | None = None,
        runner: Any = None,
    ) -> dict[str, Any]: ...
    def verify(
        self,
        plan: Mapping[str, Any],
        execution: Mapping[str, Any],
        metrics: Sequence[Mapping[str, Any]],
        *,
        approver_key: str | None = None,
        canary: Mapping[str, Any] | None = None,
        runner: Any = None,
    ) -> dict[str, Any]: ...
    def audit_records(self) -> list[dict[str, Any]]: ...

def generate_key() -> tuple[str, str]: ...
def default_catalog() -> dict[str, Any]: ...
def comparisons(
    baseline: Mapping[str, Sequence[float]],
    canary: Mapping[str, Sequence[float]],
    spec: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]: ...
def verify_audit(records: Sequence[Mapping[str, Any]], public_key: str) -> int: ...
