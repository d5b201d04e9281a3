"""ASGI middleware: what every request passes through before and after the routes.

`stack.install_middleware` adds them all and holds their order (and why); each layer is
one module here: host check, rate limit (a subpackage: client address, buckets, the
layer), response cache, database deadline, security headers, CORS, admission, conditional
GET (http_cache), body limit. Nothing here imports the stack, so a layer can be imported
(and tested) alone.
"""
