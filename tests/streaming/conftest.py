from tests.products.helpers import actors, emitted  # noqa: F401 - fixtures
