/* Problem details documents. */
#include "problem.h"

#include <jansson.h>
#include <stdlib.h>

#include "util.h"

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    }
    return status >= 500 ? "Server Error" : "Client Error";
}

char *problem_json(int status, const char *detail, const struct mat_errors *errs,
                   const char *instance, const char *request_id)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("about:blank"));
    json_object_set_new(o, "title", json_string(http_reason(status)));
    json_object_set_new(o, "status", json_integer(status));
    if (detail)
        json_object_set_new(o, "detail", json_string(detail));
    if (instance)
        json_object_set_new(o, "instance", json_string(instance));
    if (request_id)
        json_object_set_new(o, "request_id", json_string(request_id));
    json_t *arr = json_array();
    if (errs) {
        for (size_t i = 0; i < errs->count; i++) {
            json_t *e = json_object();
            json_object_set_new(e, "path", json_string(errs->items[i].path));
            json_object_set_new(e, "message", json_string(errs->items[i].message));
            json_array_append_new(arr, e);
        }
        if (errs->dropped)
            json_object_set_new(o, "errors_omitted", json_integer((json_int_t)errs->dropped));
    }
    json_object_set_new(o, "errors", arr);
    char *s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(o);
    if (!s)
        fatal("problem_json: json_dumps failed");
    return s;
}
