using FluentValidation;

namespace KimaraGateway.Runs;

/// <summary>The shape every submission must have before its App's own input rules apply.</summary>
public sealed class SubmitRunRequestValidator : AbstractValidator<SubmitRunRequest>
{
    public SubmitRunRequestValidator()
    {
        RuleFor(r => r.AppId)
            .NotEmpty().WithMessage("app_id is required.")
            .MaximumLength(128).WithMessage("app_id is at most 128 characters.")
            .Matches("^[A-Za-z0-9][A-Za-z0-9_.-]*$").WithMessage("app_id may contain letters, digits, '_', '.' and '-'.")
            .OverridePropertyName("app_id");
        RuleFor(r => r.Inputs).NotNull().WithMessage("inputs is required.").OverridePropertyName("inputs");
    }
}
