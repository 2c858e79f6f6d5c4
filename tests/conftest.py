pytest_plugins = ["tests.fixtures.stores"]
