pytest_plugins = ["tests.fixtures.stores", "tests.fixtures.fake_telegram"]
