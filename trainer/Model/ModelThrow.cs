using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Sedd.Runtime;

namespace Sedd.Trainer.Model;

/// <summary>User-facing failures of the model code, one line each (style.md: throw helpers in one place).</summary>
static class ModelThrow
{
    [DoesNotReturn, StackTraceHidden]
    public static void SequenceTooLong(long length, int maxLength) =>
        throw new SeddException($"sequence length {length} exceeds the model's length {maxLength} (model.length); use shorter sequences or a model trained on longer ones", SeddException.Usage);

    [DoesNotReturn, StackTraceHidden]
    public static void BadInputShape(string what, string expected, long[] found) =>
        throw new SeddException($"model input {what}: expected {expected}, found shape [{string.Join(", ", found)}]", SeddException.Usage);

    [DoesNotReturn, StackTraceHidden]
    public static void BadConfig(string message) =>
        throw new SeddException("model config: " + message, SeddException.Usage);

    [DoesNotReturn, StackTraceHidden]
    public static void MissingTensor(string source, string name) =>
        throw new SeddException($"{source}: tensor '{name}' is missing", SeddException.BadInput);

    [DoesNotReturn, StackTraceHidden]
    public static void UnexpectedTensor(string source, string name) =>
        throw new SeddException($"{source}: unexpected tensor '{name}' (not a parameter or buffer of this model)", SeddException.BadInput);

    [DoesNotReturn, StackTraceHidden]
    public static void ShapeMismatch(string source, string name, long[] expected, long[] found) =>
        throw new SeddException($"{source}: tensor '{name}' has shape [{string.Join(", ", found)}], expected [{string.Join(", ", expected)}]", SeddException.BadInput);
}
