using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace KimaraGateway.Callers;

/// <summary>Marks an endpoint that honours <c>Idempotency-Key</c>, so the OpenAPI document (and Swagger UI) offers the header.</summary>
public sealed class IdempotentSubmissionMetadata;

/// <summary>Documents <c>Idempotency-Key</c> where it is honoured: what it does, how long it is kept, and its answers.</summary>
internal sealed class IdempotencyKeyOperationFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (!context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<IdempotentSubmissionMetadata>().Any())
        {
            return;
        }

        operation.Parameters ??= [];
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = IdempotencyFilter.HeaderName,
            In = ParameterLocation.Header,
            Required = false,
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = IdempotencyFilter.MaxKeyLength, Pattern = "^[!-~]+$" },
            Description = "Makes a retry safe: the first response to a key is kept for 24 hours and replayed (same run id, status, body "
                + "and Location, with Idempotency-Replayed: true) to every retry with the same key and body, starting nothing. "
                + "Another body with the same key is a 422; a retry while the first is still being processed is a 409 (retry after Retry-After). "
                + "Keys are private to the caller. A 504 (Kimara did not answer, so a paid run may have started) is replayed too: "
                + "use a new key to submit again.",
        });
    }
}
