"""Fixtures every test directory may use; the stack fixtures only touch the stack when a test asks for them."""

pytest_plugins = ["tests.support.fixtures"]
