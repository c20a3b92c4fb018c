# Cross-check of real scenario windows: the samples of the program windows
# the live judge aborted runs for in kerf's canary scenario (sim, virtual
# clock), baseline (control) vs faulty run (experiment), from
# scenario_windows.json. Regenerate (Debian r-base-core, r-cran-jsonlite):
#   cd jobs/canary/testdata/rcheck && Rscript scenario.R > scenario_cases.json
# The statistics and rules are gen.R's (repeated here so each script
# stands alone): R's wilcox.test for the interval, uniroot on Kayenta's
# continuity-corrected W for the estimate, the default rules (direction
# either, meanRatio gates 1.0, tolerance 0.25, confidence 0.98).
suppressPackageStartupMessages(library(jsonlite))

wdiff <- function(d, zq, x, y) {
  nx <- length(x); ny <- length(y)
  dr <- rank(c(x - d, y))
  nties <- table(dr)
  dz <- sum(dr[seq_along(x)]) - nx * (nx + 1) / 2 - nx * ny / 2
  sigma <- sqrt((nx * ny / 12) * ((nx + ny + 1) - sum(nties^3 - nties) / ((nx + ny) * (nx + ny - 1))))
  (dz - sign(dz) * 0.5) / sigma - zq
}

one <- function(id, description, control, experiment) {
  # toJSON below writes 15 significant digits: compute on exactly the
  # numbers written, so the Go test reads the inputs R used.
  control <- signif(control, 15); experiment <- signif(experiment, 15)
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

input <- fromJSON("scenario_windows.json", simplifyVector = FALSE)
cases <- lapply(input$windows, function(w)
  suppressWarnings(one(w$id, w$description, as.numeric(unlist(w$control)), as.numeric(unlist(w$experiment)))))
cat(toJSON(list(
  generated_by = "scenario.R",
  r_version = R.version.string,
  wilcox_call = "wilcox.test(x=experiment, y=control, exact=FALSE, correct=TRUE, conf.int=TRUE, conf.level=0.98)",
  cases = cases), digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null"), "\n")
