"""Word lists for the grounding check's reading of capitalised words: which are the product's own
vocabulary (never a person), which are common first names (a person, unless the facts name them), and
which verbs want a person as their subject ("Priya approved the pilot").

Kept apart from the check itself so that adding a vendor or a name is a one-line change here.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words remedy, Jamf, Jira, Slack and Apple use, vendors and apps a ticket may mention, calendar words,
# and words a model capitalises at the start of a phrase: a capitalised run made of them is not a person.
KNOWN_WORDS = _words("""
jamf jira slack remedy mac macs macos ios ipados iphone ipad apple google microsoft mozilla adobe zoom
chrome firefox safari edge teams outlook office word excel powerpoint xcode java python oracle cisco webex
okta crowdstrike falcon sophos dropbox box notion figma docker vmware parallels citrix
sierra mojave catalina big sur monterey ventura sonoma sequoia tahoe intel silicon universal arm
pro self service smart static managed computer computers inventory classic api cloud package packages pkg
app apps store mdm policy policies group groups script scripts extension attribute attributes profile
pilot phase rollout verify done investigation plan build test to do full fleet ring rings all the go no
hold next previous first last current final early late new old
status update updates security ticket tickets summary suggested suggestion suggestions action actions
risk risks high low medium highest lowest critical priority priorities due overdue deadline compliance
compliant blocker blockers blocked open closed resolved waiting vendor rollback readiness deploy deployed
draft comment comments report audit evidence exceptions stragglers executive timeline communication
heads note notes ok okay yes
today tomorrow yesterday monday tuesday wednesday thursday friday saturday sunday january february march
april may june july august september october november december day days week weeks month months
""")

# Common given names that are not also everyday words ("Will", "May", "Mark", "Grace" are left out):
# at a sentence's start such a word is a person, and one the facts don't name was made up.
FIRST_NAMES = _words("""
aaron abigail adam adrian ahmed aisha alan albert alex alexander alexandra alice alicia alison amanda amber
amelia amy ana andrea andrew andy angela anna anne anthony antonio arjun arthur ashley barbara ben benjamin
beth betty bob bobby brad bradley brandon brenda brian bruce bryan carl carla carlos carol caroline carolyn
catherine charles charlie charlotte chen cheryl chris christina christine christopher claire clara colin
craig cynthia daniel danielle dave david debbie deborah dennis derek diana diane diego donald donna doug
douglas dylan edward elena elizabeth ellen emily emma eric erica erin ethan eva evelyn fatima fiona
francis gabriel gary george gerald gina greg gregory hannah harold harry heather helen henry ian isaac
isabella jacob james jamie jane janet jason jasmine jean jeff jeffrey jennifer jenny jeremy jerry jessica
jim jimmy joan joe joel john johnny jon jonathan jordan jose joseph joshua joyce juan judith judy julia
julie justin karen kate katherine kathleen kathy katie keith kelly kenneth kevin kim kimberly kyle larry
laura lauren leo linda lisa liam logan louis lucas lucy luis luke maria marie marilyn martha martin mary
matt matthew megan melissa michael michelle mike mohammed nancy natalie nathan nicholas nicole noah olivia
oscar pamela patricia patrick paul paula peter philip priya rachel rahul ralph randy raj rebecca richard
rick robert roger ronald ruth ryan sam samantha samuel sandra sara sarah scott sean sharon shirley sophia
sophie stephanie stephen steve steven susan tammy teresa thomas tim timothy tina todd tom tony tyler
victor victoria vincent walter wayne wei william yuki zachary zoe
""")

# Verbs that want a person as their subject: "<Word> approved the pilot" makes <Word> someone.
PERSON_VERBS = _words("""
approved approves agreed agrees asked asks said says confirmed confirms decided decides requested
requests promised promises mentioned mentions signed wants wanted thinks thought believes believed
recommends recommended suggested suggests prefers preferred insisted insists owns emailed called
""")

# Sentence subjects that take those verbs without being anyone's name.
SUBJECT_WORDS = _words("""
it this that these those he she they we i you everyone everybody someone somebody nobody noone
management leadership engineering support team vendor security legal finance
""")

# Endings of words that are things, not people ("Testing confirmed…", "Deployment approved…").
NOT_NAME_ENDINGS = ("ing", "tion", "sion", "ment", "ness", "ity", "ance", "ence", "ure", "ship", "ics")
