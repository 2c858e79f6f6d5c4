import pytest

from tests.process.processes import LongrunProcess


@pytest.fixture
def spawn(tmp_path):
    """Start real `longrun` processes; every one still running is killed at the end."""
    started: list[LongrunProcess] = []

    def start(name: str, env: dict[str, str], args: tuple[str, ...] = ("run",)) -> LongrunProcess:
        process = LongrunProcess(name, env, tmp_path, args).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
