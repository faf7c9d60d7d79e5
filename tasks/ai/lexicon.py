"""Word lists of the local provider: stopwords, the topic lexicon, sentiment, action-item cues."""

from __future__ import annotations

# Everything here is data, lower case, matched against tokens from text.py (apostrophes kept,
# so "don't" is one token). Edit these lists to tune the local provider; the algorithms in
# analysis_local.py and local.py never hard-code a word.

# Words that never start or continue a keyword phrase (RAKE splits candidate phrases at them):
# function words, plus the pleasantries and filler verbs every email is full of.
STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each few for from further had hadn't has hasn't have haven't
having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll
i'm i've if in into is isn't it it's its itself just let let's me more most mustn't my myself
no nor not now of off on once only or other ought our ours ourselves out over own same shan't
she she'd she'll she's should shouldn't so some such than that that's the their theirs them
themselves then there there's these they they'd they'll they're they've this those through to
too under until up very was wasn't we we'd we'll we're we've were weren't what what's when
when's where where's which while who who's whom why why's will with won't would wouldn't you
you'd you'll you're you've your yours yourself yourselves
hi hello hey dear thanks thank regards best cheers sincerely please kindly yes ok okay
get got go going come coming make made take took see saw say said know think thought want
wanted need needs like love loved would like really much many lot lots great good nice happy
glad hope hoping look looks looking forward new free sure well still even back next last
sharing share send sent let us one two three per via re fwd fw am pm today tomorrow yesterday
week weekend month year time times day days thing things something anything everything way
""".split())

# keyword -> topic. A token (or two-word phrase) counts for its topic; plural "s"/"es" forms
# match too (see text.lexicon_key). Topics are what interests and briefings are made of.
TOPICS: dict[str, tuple[str, ...]] = {
    "ai & data": ("ai", "artificial intelligence", "machine learning", "ml", "llm", "data",
                  "analytics", "dashboard", "pilot", "automation", "data platform",
                  "data science"),
    "product": ("roadmap", "feature", "release", "launch", "product", "beta", "demo", "design",
                "mockup", "prototype", "feedback", "ux", "spec", "requirements"),
    "sales": ("pricing", "price", "quote", "proposal", "discount", "deal", "purchase", "license",
              "renewal", "upsell", "trial", "procurement"),
    "contracts": ("contract", "agreement", "nda", "terms", "signature", "signed", "legal",
                  "compliance", "gdpr", "clause"),
    "finance": ("budget", "invoice", "payment", "revenue", "funding", "investment", "cost",
                "billing", "forecast", "expenses", "investor"),
    "security": ("security", "audit", "vulnerability", "breach", "encryption", "pentest",
                 "penetration test", "soc2", "password"),
    "engineering": ("api", "integration", "platform", "infrastructure", "cloud", "deployment",
                    "migration", "tooling", "service", "bug", "outage", "incident", "fix"),
    "partnership": ("partnership", "partner", "collaboration", "alliance", "joint", "reseller",
                    "co-marketing"),
    "hiring": ("hiring", "recruiting", "candidate", "interview", "resume", "job", "role",
               "headcount", "onboarding"),
    "planning": ("planning", "strategy", "quarterly", "q1", "q2", "q3", "q4", "okr", "okrs",
                 "goals", "kickoff", "offsite", "milestone"),
    "events": ("conference", "summit", "webinar", "meetup", "workshop", "keynote",
               "panel", "booth", "trade show"),
    "marketing": ("marketing", "campaign", "brand", "seo", "newsletter", "webinar series",
                  "press", "content", "social media"),
    "sports": ("golf", "tennis", "running", "marathon", "football", "soccer", "cycling", "ride",
               "ski", "skiing", "yoga", "hiking", "climbing", "swimming", "gym"),
    "travel": ("travel", "trip", "flight", "hotel", "vacation", "holiday", "visit", "abroad"),
    "food & drink": ("dinner", "lunch", "coffee", "restaurant", "wine", "cooking", "breakfast",
                     "beer", "barbecue"),
    "family": ("kids", "family", "wedding", "baby", "birthday", "daughter", "son", "parents",
               "anniversary"),
    "arts & media": ("photos", "photography", "music", "concert", "book", "books", "film",
                     "movie", "podcast", "museum", "painting"),
}

# Topics about life outside work: a check-in asks about these first.
PERSONAL_TOPICS = ("sports", "travel", "food & drink", "family", "arts & media")

# Sentiment valence per word, -3..3 (in the spirit of AFINN and VADER's word lists).
SENTIMENT: dict[str, float] = {
    **dict.fromkeys(("great", "excellent", "amazing", "fantastic", "wonderful", "beautiful",
                     "awesome", "brilliant", "perfect", "delighted", "thrilled", "love",
                     "loved", "outstanding"), 3.0),
    **dict.fromkeys(("good", "glad", "happy", "pleased", "thanks", "thank", "grateful",
                     "appreciate", "appreciated", "enjoyed", "excited", "impressive",
                     "congratulations", "success", "successful", "helpful", "nice", "win",
                     "welcome", "exciting", "detailed", "smooth", "solid", "like"), 2.0),
    **dict.fromkeys(("fine", "ok", "okay", "interested", "agree", "easy", "fair", "clear",
                     "useful", "ready", "resolved", "works", "improved", "hope"), 1.0),
    **dict.fromkeys(("concern", "concerned", "issue", "issues", "delay", "delayed", "late",
                     "unfortunately", "confused", "difficult", "slow", "risk", "worried",
                     "missing", "unclear", "expensive"), -1.0),
    **dict.fromkeys(("problem", "problems", "bad", "disappointed", "disappointing", "frustrated",
                     "frustrating", "annoyed", "unhappy", "fail", "failed", "failure", "wrong",
                     "broken", "complaint", "sorry", "outage", "cancel", "cancelled", "bug",
                     "bugs", "error", "errors", "poor"), -2.0),
    **dict.fromkeys(("terrible", "awful", "horrible", "unacceptable", "furious", "worst",
                     "disaster", "angry", "hate", "breach"), -3.0),
}
NEGATORS = frozenset(("not", "no", "never", "without", "hardly", "barely", "isn't", "aren't",
                      "wasn't", "weren't", "don't", "doesn't", "didn't", "can't", "cannot",
                      "won't", "wouldn't", "shouldn't", "couldn't", "haven't", "hasn't", "nor"))
INTENSIFIERS = {"very": 1.5, "really": 1.5, "extremely": 1.8, "so": 1.3, "truly": 1.5,
                "incredibly": 1.8, "super": 1.5, "quite": 1.2, "absolutely": 1.8}

# Action items: a sentence opening with one of these verbs (after an optional "please") is an
# instruction; one opening with an ASK_START word and ending in "?" is a request or a question.
IMPERATIVE_VERBS = frozenset("""
send review schedule call confirm share sign book check update prepare remember follow reply
forward set submit approve provide bring email ping let's arrange fix finish complete draft
add remove verify ensure make consider join register read fill pay return invite
""".split())
ASK_START = frozenset("""
can could would will are do did is have should shall may when what which who where how
""".split())
COMMITMENT = ("i will", "i'll", "we will", "we'll", "i am going to", "we are going to",
              "i can send", "let me")
DEADLINE_WORDS = frozenset(("deadline", "due", "asap", "eod", "eow", "urgent", "urgently"))
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
