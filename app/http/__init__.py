"""HTTP helpers the routers share: everything between a request and a service call.

Request dependencies (deps), content negotiation and rendering (formats), streamed exports
(exports), pagination and the links it hands out (pagination, links), If-Match
preconditions on writes (preconditions), strict JSON bodies (strict_json), and the OpenAPI
document's adjustments and export (openapi, openapi_export).
"""
