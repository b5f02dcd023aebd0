namespace KimaraGateway.Tests.Hosting;

/// <summary>Files of the repository itself (deployment files), found from the test's output folder.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string Of(string relative) => Path.Combine(Root, relative);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KimaraGateway.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (KimaraGateway.sln) is not above " + AppContext.BaseDirectory);
    }
}
