"""Every component id of the dashboard, in one place."""

# page state
URL = "url"
FILTER_STORE = "filter-store"
URL_NOTICE = "url-notice"
SIM_NOTICE = "simulated-notice"
SIM_NOTICE_TEXT = "sim-notice-text"

# header
DATASET_INFO = "dataset-info"

# filter panel
FILTER_PANEL = "filter-panel"
POPULATION = "population"
THRESHOLD = "threshold"
GROUP_BY = "group-by"
SEX = "sex"
ONSET = "onset"
AGE = "range-age"
DURATION = "range-duration"
BASELINE_ALSFRS = "range-alsfrs"
BASELINE_FVC = "range-fvc"
DELTA_FS = "range-deltafs"
PATIENT_PICKER = "patient-picker"
RESET = "reset"
COHORT_COUNT = "cohort-count"
COHORT_WORDS = "cohort-words"

# range slider id by cohorts.RANGES field name
RANGE_IDS = {
    "age": AGE,
    "disease_duration": DURATION,
    "baseline_alsfrs": BASELINE_ALSFRS,
    "baseline_fvc": BASELINE_FVC,
    "delta_fs": DELTA_FS,
}


class _IdsByField(dict):
    """Ids by filter field name; a field not listed gets ``pattern.format(field)``."""

    def __init__(self, pattern: str, listed: dict[str, str]):
        super().__init__(listed)
        self.pattern = pattern

    def __missing__(self, field: str) -> str:
        return self.pattern.format(field)


# checklist id by cohorts.CATEGORIES field name: sex and onset keep their ids, a new category needs no entry
CATEGORY_IDS = _IdsByField("category-{}", {"sex": SEX, "onset": ONSET})

# views: a view's component ids are "<view prefix>-<slot or option name>" (dashboard/views/),
# made by slot_id; the constants below are those of the shipped views, for the tests and the
# code that names one view's component (the rule, not the constants, is what the views use).


def slot_id(prefix: str, name: str) -> str:
    """The id of a view's slot or control: ``slot_id("ws", "grid") == "ws-grid"``."""
    return f"{prefix}-{name}"


def view_request(prefix: str) -> str:
    """The store of what a view was last drawn for (callbacks.view_request), set by sync_state."""
    return f"{prefix}-request"


def view_drawn(prefix: str) -> str:
    """The store set in the browser once a view's figures are drawn: its deferred parts wait for it."""
    return f"{prefix}-drawn"


def slot_options(prefix: str, slot: str) -> str:
    """The box of a deferred slot's options (hidden where they are not offered)."""
    return f"{prefix}-{slot}-options"


TABS = "tabs"
HIGHLIGHT = "highlight"
OPEN_PROFILE = "open-profile"
CLEAR_HIGHLIGHT = "clear-highlight"
HIGHLIGHT_BAR = "highlight-bar"

OVERVIEW_FLOW = "overview-flow"
OVERVIEW_TABLE = "overview-characteristics"

ALSFRS_SPAGHETTI = "alsfrs-spaghetti"
ALSFRS_SHOW_FITS = "alsfrs-show-fits"
ALSFRS_WINDOW = "alsfrs-window"
ALSFRS_SLOPE_TABLE = "alsfrs-slope-table"
ALSFRS_PAIRS = "alsfrs-slope-pairs"
ALSFRS_WATERFALL = "alsfrs-waterfall"
ALSFRS_MESSAGE = "alsfrs-message"
#: one cell per window, filled by its own callback (each fit is its own short request)
ALSFRS_MIXED = {w: f"alsfrs-mixed-{w}" for w in (3, 6, 9, 12)}
ALSFRS_FIT_MIXED = "alsfrs-fit-mixed"

FVC_SPAGHETTI = "fvc-spaghetti"
FVC_THRESHOLD = "fvc-threshold"
FVC_SHARE_TABLE = "fvc-share-table"

WS_GRID = "ws-grid"
WS_MEAN = "ws-mean"
WS_THRESHOLD = "ws-threshold"
WS_SHARE_TABLE = "ws-share-table"

AE_HEATMAP = "ae-heatmap"
AE_COLOUR_BY = "ae-colour-by"
AE_ONLY = "ae-only"
AE_INCIDENCE = "ae-incidence"
AE_SERIOUS_LIST = "ae-serious-list"
# the DSMB's safety review (issue 14): slots ae-summary, ae-deaths, ae-swimmer, ae-timeline-notice, overview-changes
AE_SUMMARY = "ae-summary"
AE_DEATHS = "ae-deaths"
AE_SWIMMER = "ae-swimmer"
AE_SUMMARY_TABLE = "ae-summary-table"
AE_HIERARCHY_TABLE = "ae-hierarchy-table"
AE_DEATHS_TABLE = "ae-deaths-table"
OVERVIEW_CHANGES = "overview-changes"
PROFILE_TIMELINE = "profile-timeline"

PROFILE_CONTENT = "profile-content"
PROFILE_FIGURE = "profile-figure"

PAPER_TABLE = "paper-table"

# presenting and sharing
APP_ROOT = "app-root"
PRESENT = "present"
PRESENT_CAPTION = "present-caption"
DOWNLOAD_DATA = "download-data"
DOWNLOAD_SLOPES = "download-slopes"
DOWNLOAD_INCIDENCE = "download-incidence"
DOWNLOAD_REPORT = "download-report"
DOWNLOAD_EVENTS = "download-events"
DOWNLOAD = "download"
