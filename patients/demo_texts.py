"""The Danish texts of the demo data: what citizens say matters, notes, agreed actions, relations."""

WHAT_MATTERS_DIABETES = [
    "At kunne gå tur med hunden hver dag uden at blive forpustet.",
    "Jeg vil gerne undgå at skulle have insulin.",
    "At have energi til at passe mine børnebørn om onsdagen.",
    "At kunne spise med til familiefester uden dårlig samvittighed.",
    "At tabe mig så knæene ikke gør så ondt.",
    "At forstå hvad mine blodsukkertal betyder.",
    "At komme tilbage til badmintonklubben.",
    "At min kone ikke skal bekymre sig så meget.",
    "At sove bedre om natten.",
    "At kunne passe mit arbejde som buschauffør.",
]
WHAT_MATTERS_DEMENTIA = [
    "At blive boende hjemme så længe som muligt.",
    "At kunne gå i haven og passe mine roser.",
    "At min datter ikke skal bruge al sin tid på mig.",
    "At have faste rutiner om morgenen.",
    "At komme med i sangkoret igen.",
    "At kunne følge med når familien snakker.",
    "At kunne klare indkøbene i Netto selv.",
    "At min mand får en pause en gang imellem.",
]
NOTES_DIABETES = [
    "Gennemgang af blodsukkermålinger. Borger fortæller om bedre kostvaner, mindre sodavand. Drøftet motion.",
    "Samtale om medicin; tager metformin som ordineret. Har haft lidt maveproblemer. Fødder set, ingen sår.",
    "Borger har været på diabetesskole og er glad for holdet. Vil gerne fortsætte med gåture.",
    "Vægten er stabil. Borger har svært ved at finde motivation efter sygdom i familien. Aftalt opfølgning.",
    "Kostsamtale med fokus på måltidsrytme. Borger spiser ofte sent om aftenen.",
    "Telefonopfølgning. Borger har fået nyt job og har travlt, men holder fast i morgengåturen.",
]
NOTES_LOST = [
    "Borger har aflyst de to sidste aftaler og ønsker at vente med blodprøverne. Ringer igen senere.",
    "Telefonsamtale. Borger har travlt og har ikke fået taget blodprøver hos egen læge.",
    "Ingen svarede ved opkald; besked lagt om at kontakte centret.",
]
NOTES_RECALLED = [
    "Indkaldt efter gennemgang af arbejdslisten; har ikke været til kontrol i over et år. Blodprøver taget.",
    "Borger kom efter vores indkaldelse. Gennemgået målinger og medicin; ny plan aftalt.",
]
NOTES_NEW = [
    "Første samtale efter henvisning. Gennemgået diagnose, forløbet her og hvad borgeren selv ønsker.",
]
NOTES_DEMENTIA = [
    "Hjemmebesøg sammen med datter. Borger er glad og genkender os. Mere glemsom med aftaler.",
    "Pårørendesamtale. Ægtefælle er træt; drøftet aflastning og pårørendegruppe.",
    "MMSE gennemført. Borger er orienteret i tid og sted, men har svært ved genkaldelse.",
    "Borger har været faldet i hjemmet uden skader. Drøftet tryghedsalarm og rutiner.",
    "Opfølgning på medicin. Ægtefælle doserer nu medicinen i æske.",
    "Samtale om aktiviteter; borger deltager i dagcenter to gange om ugen.",
]
ACTIONS_DIABETES = [
    "Bestille HbA1c hos egen læge før næste samtale",
    "Henvise til diætist",
    "Gåtur 30 minutter fem dage om ugen",
    "Telefonopfølgning om 4 uger",
    "Fodterapeut bestilles",
    "Øjenscreening bookes",
]
ACTIONS_DEMENTIA = [
    "Tilbyde plads i pårørendegruppe",
    "Søge aflastning via visitationen",
    "Hjemmebesøg om 6 uger",
    "Ergoterapeut vurderer hjælpemidler",
    "Kontakte egen læge om medicingennemgang",
]
RELATIONS_CAREGIVER = ["datter", "søn", "ægtefælle", "hustru", "mand", "niece"]
RELATIONS_OTHER = ["søn", "datter", "nabo", "barnebarn", "bror", "søster"]
