namespace Sedd.Trainer.Tests.Data;

/// <summary>Runs code that must not block (opening a FIFO, say) and fails the test if it does.</summary>
static class Within
{
    /// <summary>The result of <paramref name="action"/>, or a failure naming <paramref name="what"/> after <paramref name="seconds"/>.</summary>
    public static async Task<T> Seconds<T>(int seconds, string what, Func<T> action)
    {
        var task = Task.Run(action);
        var first = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(seconds)));
        Assert.True(first == task, $"{what} blocked for {seconds} s");
        return await task;
    }
}
