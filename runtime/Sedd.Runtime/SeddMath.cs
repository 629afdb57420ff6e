namespace Sedd.Runtime;

/// <summary>Scalar helpers shared by the loss, the model's output scaling and the samplers.</summary>
public static class SeddMath
{
    /// <summary>
    /// e^σ − 1 with SEDD's switch (spec §0): expm1(σ) below 0.5, exp(σ) − 1 from 0.5 on.
    /// Used identically by the loss and by the model's output scaling.
    /// </summary>
    /// <param name="sigma">Total noise σ̄ ≥ 0.</param>
    public static double Expm1s(double sigma) => sigma < 0.5 ? Expm1(sigma) : Math.Exp(sigma) - 1;

    /// <summary>e^x − 1, accurate near 0 (Math has no expm1).</summary>
    /// <param name="x">Argument.</param>
    public static double Expm1(double x)
    {
        if (Math.Abs(x) < 1e-5) return x + 0.5 * x * x + x * x * x / 6;
        double u = Math.Exp(x);
        if (u == 1.0) return x;
        double um1 = u - 1.0;
        if (um1 == -1.0) return -1.0;
        return um1 * x / Math.Log(u); // Kahan's trick: exact to a few ulps
    }

    /// <summary>ln(1 + x), accurate near 0.</summary>
    /// <param name="x">Argument, x &gt; −1.</param>
    public static double LogP1(double x)
    {
        double u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    /// <summary>K(a) = a (ln a − 1), with K(0) = 0 (score-entropy constant).</summary>
    /// <param name="a">a ≥ 0.</param>
    public static double K(double a) => a == 0 ? 0 : a * (Math.Log(a) - 1);
}
