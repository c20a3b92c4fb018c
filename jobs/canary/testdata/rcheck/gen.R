# Cross-check cases for kerf's port of Kayenta's NetflixACAJudge, with
# windows typical of CNC runs. Regenerate (needs Debian r-base-core and
# r-cran-jsonlite):
#   cd jobs/canary/testdata/rcheck && Rscript gen.R > cases.json
# CI: R's own wilcox.test (normal approximation with continuity correction,
# exactly Kayenta's method). Estimate: Kayenta keeps the continuity
# correction when solving W(d) = 0, which R >= 4 does not, so it is solved
# here with R's uniroot (the same zeroin, tol 1e-4) on the corrected W.
# Classification: the judge's rules with the default config (direction
# either, meanRatio gates 1.0, tolerance 0.25, confidence 0.98).
suppressPackageStartupMessages(library(jsonlite))
set.seed(20261127)

wdiff <- function(d, zq, x, y) {
  nx <- length(x); ny <- length(y)
  dr <- rank(c(x - d, y))
  nties <- table(dr)
  dz <- sum(dr[seq_along(x)]) - nx * (nx + 1) / 2 - nx * ny / 2
  sigma <- sqrt((nx * ny / 12) * ((nx + ny + 1) - sum(nties^3 - nties) / ((nx + ny) * (nx + ny - 1))))
  (dz - sign(dz) * 0.5) / sigma - zq
}

one <- function(id, description, control, experiment) {
  x <- experiment; y <- control
  w <- wilcox.test(x, y, alternative = "two.sided", mu = 0, paired = FALSE,
                   exact = FALSE, correct = TRUE, conf.int = TRUE, conf.level = 0.98)
  mumin <- min(x) - max(y); mumax <- max(x) - min(y)
  est <- uniroot(wdiff, c(mumin, mumax), tol = 1e-4, zq = 0, x = x, y = y)$root
  ratio <- if (mean(x) == 0 || mean(y) == 0) NaN else mean(x) / mean(y)
  bound <- 0.25 * abs(est)
  gate <- function(ok) is.nan(ratio) || ok
  cls <- if (w$conf.int[1] > bound && gate(ratio >= 1)) "High" else
         if (w$conf.int[2] < -bound && gate(ratio <= 1)) "Low" else "Pass"
  list(id = id, description = description, control = control, experiment = experiment,
       conf_int = as.numeric(w$conf.int), estimate = est,
       r_estimate = as.numeric(w$estimate), ratio = if (is.nan(ratio)) NULL else ratio,
       classification = cls)
}

cases <- list(
  one("feed-ratio-clean", "feed_ratio (%) over 30 windows, same machine, no fault",
      round(rnorm(30, 100, 1.5), 2), round(rnorm(30, 100, 1.5), 2)),
  one("feed-ratio-stall-30pct", "feed_ratio (%): the run stalls to 70 % in every window",
      round(rnorm(30, 100, 1.5), 2), round(rnorm(30, 70, 2), 2)),
  one("feed-ratio-stall-onset", "feed_ratio (%): 30 baseline windows; run so far 12 windows, stall from window 9",
      round(rnorm(30, 100, 1.5), 2), c(round(rnorm(8, 100, 1.5), 2), round(rnorm(4, 70, 2), 2))),
  one("segment-ms-clean", "segment_duration_ms rounded to whole ms (ties), lognormal jitter",
      round(rlnorm(40, log(250), 0.08)), round(rlnorm(40, log(250), 0.08))),
  one("segment-ms-slow-12pct", "segment_duration_ms: run 12 % slower",
      round(rlnorm(40, log(250), 0.08)), round(rlnorm(40, log(280), 0.08))),
  one("z-drift-um-clean", "z_drift_um: whole micrometres 0-5 at safe points, heavy ties",
      sample(0:5, 16, replace = TRUE), sample(0:5, 16, replace = TRUE)),
  one("z-drift-um-lost-steps", "z_drift_um: Z lost steps, 40-60 um",
      sample(0:5, 16, replace = TRUE), sample(40:60, 6, replace = TRUE)),
  one("planner-starvation-clean", "planner_starvation (%): mostly 0 with a few short starvations",
      c(rep(0, 24), round(runif(6, 0, 2), 1)), c(rep(0, 25), round(runif(5, 0, 2), 1))),
  one("planner-starvation-starving", "planner_starvation (%): the stream starves in most windows",
      c(rep(0, 24), round(runif(6, 0, 2), 1)), c(rep(0, 6), round(runif(14, 5, 20), 1))),
  one("spindle-mismatch-not-started", "spindle_on_mismatch (ms): router not starting in a run",
      round(rnorm(8, 300, 30)), c(round(rnorm(2, 300, 30)), 10000, 10000, 10000)),
  one("small-5v3", "5 baseline windows vs 3 run windows, shifted by about 2 sd",
      round(rnorm(5, 50, 1), 1), round(rnorm(3, 52, 1), 1))
)
cat(toJSON(list(
  generated_by = "gen.R",
  r_version = R.version.string,
  seed = 20261127,
  wilcox_call = "wilcox.test(x=experiment, y=control, exact=FALSE, correct=TRUE, conf.int=TRUE, conf.level=0.98)",
  cases = cases), digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null"), "\n")
