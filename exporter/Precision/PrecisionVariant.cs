using Onnx;
using Sedd.Runtime;

namespace Sedd.Exporter.Precision;

/// <summary>
/// Placeholder of the precision variants (issue 3 points 5–6): the real conversion to fp16 and int8
/// is written separately and replaces this file at merge. Only fp32 (the graph itself) is built here.
/// </summary>
public static class PrecisionVariant
{
    /// <summary>The model in <paramref name="precision"/>: fp32 returns <paramref name="fp32"/> itself.</summary>
    /// <param name="fp32">The float32 graph.</param>
    /// <param name="precision">"fp32", "fp16" or "int8".</param>
    public static ModelProto Convert(ModelProto fp32, string precision) =>
        precision == "fp32" ? fp32 : throw new SeddException($"precision {precision} is not built yet", SeddException.Usage);
}
