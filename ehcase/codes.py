"""Children in Need census code sets (Department for Education)."""

ETHNICITY_CHOICES = [
    ("WBRI", "White – British"),
    ("WIRI", "White – Irish"),
    ("WIRT", "Traveller of Irish heritage"),
    ("WROM", "Gypsy or Roma"),
    ("WOTH", "Any other White background"),
    ("MWBC", "White and Black Caribbean"),
    ("MWBA", "White and Black African"),
    ("MWAS", "White and Asian"),
    ("MOTH", "Any other mixed background"),
    ("AIND", "Indian"),
    ("APKN", "Pakistani"),
    ("ABAN", "Bangladeshi"),
    ("AOTH", "Any other Asian background"),
    ("BCRB", "Black Caribbean"),
    ("BAFR", "Black African"),
    ("BOTH", "Any other Black background"),
    ("CHNE", "Chinese"),
    ("OOTH", "Any other ethnic group"),
    ("REFU", "Refused"),
    ("NOBT", "Information not yet obtained"),
]

DISABILITY_CHOICES = [
    ("NONE", "No disability"),
    ("MOB", "Mobility"),
    ("HAND", "Hand function"),
    ("PC", "Personal care"),
    ("INC", "Incontinence"),
    ("COMM", "Communication"),
    ("LD", "Learning"),
    ("HEAR", "Hearing"),
    ("VIS", "Vision"),
    ("BEH", "Behaviour"),
    ("CON", "Consciousness"),
    ("AUT", "Autism or Asperger syndrome"),
    ("DDA", "Other disability under the Equality Act"),
]

ETHNICITY_LABELS = dict(ETHNICITY_CHOICES)
DISABILITY_LABELS = dict(DISABILITY_CHOICES)
