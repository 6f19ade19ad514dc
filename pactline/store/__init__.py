"""Where data lives: the data root (local folder or any fsspec URI) and its zone layout."""

from pactline.store.root import DataRoot, data_root_url

__all__ = ["DataRoot", "data_root_url"]
