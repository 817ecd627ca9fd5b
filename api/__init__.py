"""FastAPI routers, one file per API family, with their request/response models and error shapes."""
